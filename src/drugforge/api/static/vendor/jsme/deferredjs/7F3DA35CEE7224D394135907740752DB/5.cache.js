$wnd.jsme.runAsyncCallback5('x(707,595,$s);_.Zd=function(){this.a.F&&(q4(this.a.F),this.a.F=null);0==this.a.r.w&&(this.a.F=new v4(2,this.a))};U(T0)(5);\n//@ sourceURL=5.js\n')
