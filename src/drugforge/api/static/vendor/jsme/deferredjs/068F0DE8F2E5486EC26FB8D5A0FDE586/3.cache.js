$wnd.jsme.runAsyncCallback3('x(723,614,ln);_.Zd=function(){this.a.n&&a2(this.a.n);this.a.n=new f2(0,this.a)};R(uZ)(3);\n//@ sourceURL=3.js\n')
