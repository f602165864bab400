$wnd.jsme.runAsyncCallback3('x(702,593,on);_.Zd=function(){this.a.n&&G0(this.a.n);this.a.n=new L0(0,this.a)};U(dY)(3);\n//@ sourceURL=3.js\n')
